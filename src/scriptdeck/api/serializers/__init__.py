"""How records look over HTTP: one module per resource, one public face for the views."""

from .executions import (
    ArtifactSerializer,
    CancelAnswerSerializer,
    ExecutionListSerializer,
    ExecutionSerializer,
    ExecutionSubmitSerializer,
    OutputChunkSerializer,
    OutputPageSerializer,
    ResultRecordSerializer,
    UploadSerializer,
    WorkerSerializer,
)
from .prebuilt import PrebuiltOutput, SchemaField
from .scripts import ScriptSerializer

__all__ = [
    "ArtifactSerializer",
    "CancelAnswerSerializer",
    "ExecutionListSerializer",
    "ExecutionSerializer",
    "ExecutionSubmitSerializer",
    "OutputChunkSerializer",
    "OutputPageSerializer",
    "PrebuiltOutput",
    "ResultRecordSerializer",
    "SchemaField",
    "ScriptSerializer",
    "UploadSerializer",
    "WorkerSerializer",
]
