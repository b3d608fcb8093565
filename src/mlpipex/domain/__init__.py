"""Pure types of MLPipeX: no I/O, no environment, no printing."""
