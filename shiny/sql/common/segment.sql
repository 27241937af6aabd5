-- the segment of a row when the page splits by device, channel or country (the by parameter)
case %(by)s
    when 'device' then device_type
    when 'channel' then channel
    else country
end
