"""Lab services: one module per component, each defining a lab.framework.Service subclass."""
