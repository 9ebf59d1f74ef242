"""silake: the Seamless Interaction lakehouse."""
