//! Credential primitives shared by the cfl client, the gateway and the simulator.
