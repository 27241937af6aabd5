"""The pipeline's steps, in the order an event meets them: ingest, listing (ListNew), transform and
normalize (the Map), load and sessionize (CheckStagedBatches, SessionizeAndUpsert, AdvanceWatermark),
notify; states.py holds every state's input and output. What runs on Lambda."""
