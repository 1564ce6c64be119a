"""What people read from the store: service levels, the handover, the device estate."""
