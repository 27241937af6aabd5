-- the sidebar's device, country and channel filters (a filter left empty is null and means all)
(%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
and (%(countries)s::text[] is null or country = any(%(countries)s::text[]))
and (%(channels)s::text[] is null or channel = any(%(channels)s::text[]))
