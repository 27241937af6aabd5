-- a landing row's campaign: its UTM campaign, source and medium ('' for a tag not set) and channel,
-- the same for its sessions and its revenue (acquisition/campaign_table.sql)
coalesce(utm_campaign, '') as campaign,
coalesce(utm_source, '') as source,
coalesce(utm_medium, '') as medium,
channel
