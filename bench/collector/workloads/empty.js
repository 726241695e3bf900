// Nothing: the fixed cost of starting node (and the tracer) and writing the capture.
