"""What every part of the pipeline shares: settings, errors, the event contract, the lake layout, SQL."""
