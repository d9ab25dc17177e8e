"""HTTP pieces every service shares: ops endpoints and the contract's error shape."""

from leadflow.http.errors import (
    CONTRACT_STATUS,
    error_response,
    install_error_handlers,
)
from leadflow.http.ops import HttpMetrics, ReadyCheck, ops_router

__all__ = [
    "CONTRACT_STATUS",
    "HttpMetrics",
    "ReadyCheck",
    "error_response",
    "install_error_handlers",
    "ops_router",
]
