"""What every provider shares and no provider shapes: options, the transport, the limiter,
sans-io helpers, the page loop, the converter base, errors, the bulk engine and the journal.

It imports no other part of hf_access (see ARCHITECTURE.md).
"""
