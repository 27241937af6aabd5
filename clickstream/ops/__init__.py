"""The operator's side: the state machine's definition and its executions (start, list, explain, redrive),
the same against the local stack and AWS."""
