"""The pipeline's steps, in the order an event meets them: ingest, listing (ListNew), transform and
normalize (the Map), load and sessionize (CheckStagedBatches, SessionizeAndUpsert, AdvanceWatermark),
notify. What runs on Lambda."""
