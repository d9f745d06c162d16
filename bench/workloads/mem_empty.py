"""Does nothing: under a tool, its time is the fixed cost of starting and ending under it."""
pass
