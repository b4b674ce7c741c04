"""All ORM models; importing this package registers every table on ``Base.metadata``."""

from mobileplans.db.models.audit import AuditEntry
from mobileplans.db.models.catalog import PortalLaunch
from mobileplans.db.models.monitoring import (
    JobWatermark,
    MaintenanceWindow,
    Probe,
    ProbeResult,
    ProbeRollup,
    SlaContract,
    SlaStatement,
)
from mobileplans.db.models.onboarding import (
    OnboardingEvent,
    OnboardingEvidence,
    OnboardingMilestone,
    OnboardingProject,
)
from mobileplans.db.models.operator import (
    ConfigState,
    IccidRange,
    Operator,
    OperatorContact,
    OperatorEnvironment,
)
from mobileplans.db.models.ops import (
    ApiCredential,
    Bug,
    BugEvent,
    Incident,
    IncidentCallTask,
    IncidentClock,
    IncidentEvent,
    Notification,
    OperatorOpsSettings,
)
from mobileplans.db.models.smdp import (
    SmdpCallbackOutbox,
    SmdpDownloadSession,
    SmdpFunctionCall,
    SmdpProfile,
    SmdpProfileEvent,
    SmdpRequester,
)
from mobileplans.db.models.subscriber import (
    MoAccount,
    MoBalance,
    MoDownloadEvent,
    MoLine,
    MoOrder,
    MoPlan,
    MoTransactionLog,
    MoUsage,
)
from mobileplans.db.models.telemetry import BalanceLookup, PurchaseTelemetry

__all__ = [
    "ApiCredential",
    "AuditEntry",
    "BalanceLookup",
    "Bug",
    "BugEvent",
    "ConfigState",
    "IccidRange",
    "Incident",
    "IncidentCallTask",
    "IncidentClock",
    "IncidentEvent",
    "JobWatermark",
    "MaintenanceWindow",
    "MoAccount",
    "MoBalance",
    "MoDownloadEvent",
    "MoLine",
    "MoOrder",
    "MoPlan",
    "MoTransactionLog",
    "MoUsage",
    "Notification",
    "OnboardingEvent",
    "OnboardingEvidence",
    "OnboardingMilestone",
    "OnboardingProject",
    "Operator",
    "OperatorContact",
    "OperatorEnvironment",
    "OperatorOpsSettings",
    "PortalLaunch",
    "Probe",
    "ProbeResult",
    "ProbeRollup",
    "PurchaseTelemetry",
    "SlaContract",
    "SlaStatement",
    "SmdpCallbackOutbox",
    "SmdpDownloadSession",
    "SmdpFunctionCall",
    "SmdpProfile",
    "SmdpProfileEvent",
    "SmdpRequester",
]
