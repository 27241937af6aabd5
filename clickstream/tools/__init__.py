"""Tools around the pipeline that never run on Lambda: the traffic generator, importers of real data sets,
the cost model, the from-scratch reference the warehouse must equal."""
