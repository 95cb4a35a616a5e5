"""HTTP plumbing shared by every router: the Linq error envelope, auth, dependencies, tracing."""
