"""Stage 2, the engine: the scenario compiled to indexed arrays, and the SimPy event loop that routes
calls through it (routing decisions, cloud PBX, traffic, random streams). It writes packed rows."""
