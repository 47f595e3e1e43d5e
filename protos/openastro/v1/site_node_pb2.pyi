import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Health(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEALTH_UNSPECIFIED: _ClassVar[Health]
    HEALTH_OK: _ClassVar[Health]
    HEALTH_DEGRADED: _ClassVar[Health]
    HEALTH_FAILING: _ClassVar[Health]
HEALTH_UNSPECIFIED: Health
HEALTH_OK: Health
HEALTH_DEGRADED: Health
HEALTH_FAILING: Health

class CheckRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("status", "site", "message")
    class ServingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        SERVING_STATUS_UNSPECIFIED: _ClassVar[CheckResponse.ServingStatus]
        SERVING_STATUS_SERVING: _ClassVar[CheckResponse.ServingStatus]
        SERVING_STATUS_NOT_SERVING: _ClassVar[CheckResponse.ServingStatus]
    SERVING_STATUS_UNSPECIFIED: CheckResponse.ServingStatus
    SERVING_STATUS_SERVING: CheckResponse.ServingStatus
    SERVING_STATUS_NOT_SERVING: CheckResponse.ServingStatus
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    status: CheckResponse.ServingStatus
    site: str
    message: str
    def __init__(self, status: _Optional[_Union[CheckResponse.ServingStatus, str]] = ..., site: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TelescopeInfo(_message.Message):
    __slots__ = ("name", "aperture_m", "filters", "field_of_view_arcmin", "pixel_scale_arcsec")
    NAME_FIELD_NUMBER: _ClassVar[int]
    APERTURE_M_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    FIELD_OF_VIEW_ARCMIN_FIELD_NUMBER: _ClassVar[int]
    PIXEL_SCALE_ARCSEC_FIELD_NUMBER: _ClassVar[int]
    name: str
    aperture_m: float
    filters: _containers.RepeatedScalarFieldContainer[str]
    field_of_view_arcmin: float
    pixel_scale_arcsec: float
    def __init__(self, name: _Optional[str] = ..., aperture_m: _Optional[float] = ..., filters: _Optional[_Iterable[str]] = ..., field_of_view_arcmin: _Optional[float] = ..., pixel_scale_arcsec: _Optional[float] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "version", "sha256", "deployed")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    DEPLOYED_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    sha256: str
    deployed: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., sha256: _Optional[str] = ..., deployed: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SiteStatus(_message.Message):
    __slots__ = ("site", "telescopes", "backend", "software_version", "models", "outbox_depth", "queue_length", "health", "messages", "last_seq", "acked_seq", "sim_time", "running_observation_id", "pipeline")
    SITE_FIELD_NUMBER: _ClassVar[int]
    TELESCOPES_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    QUEUE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    ACKED_SEQ_FIELD_NUMBER: _ClassVar[int]
    SIM_TIME_FIELD_NUMBER: _ClassVar[int]
    RUNNING_OBSERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    site: str
    telescopes: _containers.RepeatedCompositeFieldContainer[TelescopeInfo]
    backend: str
    software_version: str
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    outbox_depth: int
    queue_length: int
    health: Health
    messages: _containers.RepeatedScalarFieldContainer[str]
    last_seq: int
    acked_seq: int
    sim_time: _timestamp_pb2.Timestamp
    running_observation_id: str
    pipeline: str
    def __init__(self, site: _Optional[str] = ..., telescopes: _Optional[_Iterable[_Union[TelescopeInfo, _Mapping]]] = ..., backend: _Optional[str] = ..., software_version: _Optional[str] = ..., models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., outbox_depth: _Optional[int] = ..., queue_length: _Optional[int] = ..., health: _Optional[_Union[Health, str]] = ..., messages: _Optional[_Iterable[str]] = ..., last_seq: _Optional[int] = ..., acked_seq: _Optional[int] = ..., sim_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., running_observation_id: _Optional[str] = ..., pipeline: _Optional[str] = ...) -> None: ...

class Conditions(_message.Message):
    __slots__ = ("cloud_cover", "humidity", "wind_m_s", "seeing_arcsec", "sky_v_mag_arcsec2", "open", "reason")
    CLOUD_COVER_FIELD_NUMBER: _ClassVar[int]
    HUMIDITY_FIELD_NUMBER: _ClassVar[int]
    WIND_M_S_FIELD_NUMBER: _ClassVar[int]
    SEEING_ARCSEC_FIELD_NUMBER: _ClassVar[int]
    SKY_V_MAG_ARCSEC2_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    cloud_cover: float
    humidity: float
    wind_m_s: float
    seeing_arcsec: float
    sky_v_mag_arcsec2: float
    open: bool
    reason: str
    def __init__(self, cloud_cover: _Optional[float] = ..., humidity: _Optional[float] = ..., wind_m_s: _Optional[float] = ..., seeing_arcsec: _Optional[float] = ..., sky_v_mag_arcsec2: _Optional[float] = ..., open: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class MountState(_message.Message):
    __slots__ = ("telescope", "ra_deg", "dec_deg", "alt_deg", "az_deg", "tracking", "slewing", "parked")
    TELESCOPE_FIELD_NUMBER: _ClassVar[int]
    RA_DEG_FIELD_NUMBER: _ClassVar[int]
    DEC_DEG_FIELD_NUMBER: _ClassVar[int]
    ALT_DEG_FIELD_NUMBER: _ClassVar[int]
    AZ_DEG_FIELD_NUMBER: _ClassVar[int]
    TRACKING_FIELD_NUMBER: _ClassVar[int]
    SLEWING_FIELD_NUMBER: _ClassVar[int]
    PARKED_FIELD_NUMBER: _ClassVar[int]
    telescope: str
    ra_deg: float
    dec_deg: float
    alt_deg: float
    az_deg: float
    tracking: bool
    slewing: bool
    parked: bool
    def __init__(self, telescope: _Optional[str] = ..., ra_deg: _Optional[float] = ..., dec_deg: _Optional[float] = ..., alt_deg: _Optional[float] = ..., az_deg: _Optional[float] = ..., tracking: _Optional[bool] = ..., slewing: _Optional[bool] = ..., parked: _Optional[bool] = ...) -> None: ...

class CameraState(_message.Message):
    __slots__ = ("telescope", "state", "temperature_c", "filter")
    TELESCOPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_C_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    telescope: str
    state: str
    temperature_c: float
    filter: str
    def __init__(self, telescope: _Optional[str] = ..., state: _Optional[str] = ..., temperature_c: _Optional[float] = ..., filter: _Optional[str] = ...) -> None: ...

class StreamTelemetryRequest(_message.Message):
    __slots__ = ("interval_s", "sim_time", "max_messages")
    INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    SIM_TIME_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    interval_s: float
    sim_time: _timestamp_pb2.Timestamp
    max_messages: int
    def __init__(self, interval_s: _Optional[float] = ..., sim_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., max_messages: _Optional[int] = ...) -> None: ...

class Telemetry(_message.Message):
    __slots__ = ("time", "site", "conditions", "mounts", "cameras", "health", "messages", "sequence", "queue_length", "outbox_depth")
    TIME_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    MOUNTS_FIELD_NUMBER: _ClassVar[int]
    CAMERAS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    site: str
    conditions: Conditions
    mounts: _containers.RepeatedCompositeFieldContainer[MountState]
    cameras: _containers.RepeatedCompositeFieldContainer[CameraState]
    health: Health
    messages: _containers.RepeatedScalarFieldContainer[str]
    sequence: int
    queue_length: int
    outbox_depth: int
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., site: _Optional[str] = ..., conditions: _Optional[_Union[Conditions, _Mapping]] = ..., mounts: _Optional[_Iterable[_Union[MountState, _Mapping]]] = ..., cameras: _Optional[_Iterable[_Union[CameraState, _Mapping]]] = ..., health: _Optional[_Union[Health, str]] = ..., messages: _Optional[_Iterable[str]] = ..., sequence: _Optional[int] = ..., queue_length: _Optional[int] = ..., outbox_depth: _Optional[int] = ...) -> None: ...

class GetConditionTimelineRequest(_message.Message):
    __slots__ = ("start", "end", "min_interval_s")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    MIN_INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    min_interval_s: float
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., min_interval_s: _Optional[float] = ...) -> None: ...

class ConditionChange(_message.Message):
    __slots__ = ("time", "conditions")
    TIME_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    conditions: Conditions
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., conditions: _Optional[_Union[Conditions, _Mapping]] = ...) -> None: ...

class ConditionTimeline(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[ConditionChange]
    def __init__(self, changes: _Optional[_Iterable[_Union[ConditionChange, _Mapping]]] = ...) -> None: ...

class ObservationCommand(_message.Message):
    __slots__ = ("observation_id", "request_id", "telescope", "ra_deg", "dec_deg", "filter", "exposure_s", "target", "priority", "v_mag", "start")
    OBSERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TELESCOPE_FIELD_NUMBER: _ClassVar[int]
    RA_DEG_FIELD_NUMBER: _ClassVar[int]
    DEC_DEG_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    EXPOSURE_S_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    V_MAG_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    observation_id: str
    request_id: str
    telescope: str
    ra_deg: float
    dec_deg: float
    filter: str
    exposure_s: float
    target: str
    priority: float
    v_mag: float
    start: _timestamp_pb2.Timestamp
    def __init__(self, observation_id: _Optional[str] = ..., request_id: _Optional[str] = ..., telescope: _Optional[str] = ..., ra_deg: _Optional[float] = ..., dec_deg: _Optional[float] = ..., filter: _Optional[str] = ..., exposure_s: _Optional[float] = ..., target: _Optional[str] = ..., priority: _Optional[float] = ..., v_mag: _Optional[float] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubmitObservationRequest(_message.Message):
    __slots__ = ("command",)
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    command: ObservationCommand
    def __init__(self, command: _Optional[_Union[ObservationCommand, _Mapping]] = ...) -> None: ...

class SubmitObservationResponse(_message.Message):
    __slots__ = ("accepted", "queue_position", "duplicate", "state", "message")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    queue_position: int
    duplicate: bool
    state: str
    message: str
    def __init__(self, accepted: _Optional[bool] = ..., queue_position: _Optional[int] = ..., duplicate: _Optional[bool] = ..., state: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class CancelObservationRequest(_message.Message):
    __slots__ = ("observation_id",)
    OBSERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    observation_id: str
    def __init__(self, observation_id: _Optional[str] = ...) -> None: ...

class CancelObservationResponse(_message.Message):
    __slots__ = ("cancelled", "state")
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    cancelled: bool
    state: str
    def __init__(self, cancelled: _Optional[bool] = ..., state: _Optional[str] = ...) -> None: ...

class StreamResultsRequest(_message.Message):
    __slots__ = ("after_seq", "include_fits", "observation_id", "stop_when_caught_up")
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FITS_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    STOP_WHEN_CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    after_seq: int
    include_fits: bool
    observation_id: str
    stop_when_caught_up: bool
    def __init__(self, after_seq: _Optional[int] = ..., include_fits: _Optional[bool] = ..., observation_id: _Optional[str] = ..., stop_when_caught_up: _Optional[bool] = ...) -> None: ...

class TransientCandidate(_message.Message):
    __slots__ = ("ra_deg", "dec_deg", "x", "y", "flux", "snr", "score", "mag", "vetted")
    RA_DEG_FIELD_NUMBER: _ClassVar[int]
    DEC_DEG_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    FLUX_FIELD_NUMBER: _ClassVar[int]
    SNR_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    MAG_FIELD_NUMBER: _ClassVar[int]
    VETTED_FIELD_NUMBER: _ClassVar[int]
    ra_deg: float
    dec_deg: float
    x: float
    y: float
    flux: float
    snr: float
    score: float
    mag: float
    vetted: bool
    def __init__(self, ra_deg: _Optional[float] = ..., dec_deg: _Optional[float] = ..., x: _Optional[float] = ..., y: _Optional[float] = ..., flux: _Optional[float] = ..., snr: _Optional[float] = ..., score: _Optional[float] = ..., mag: _Optional[float] = ..., vetted: _Optional[bool] = ...) -> None: ...

class FrameAnalysis(_message.Message):
    __slots__ = ("ok", "error", "pipeline", "sky_level", "sky_noise", "n_sources", "fwhm_arcsec", "ellipticity", "zero_point", "anomaly_score", "verdict", "transients", "latency_s", "extras")
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    SKY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    SKY_NOISE_FIELD_NUMBER: _ClassVar[int]
    N_SOURCES_FIELD_NUMBER: _ClassVar[int]
    FWHM_ARCSEC_FIELD_NUMBER: _ClassVar[int]
    ELLIPTICITY_FIELD_NUMBER: _ClassVar[int]
    ZERO_POINT_FIELD_NUMBER: _ClassVar[int]
    ANOMALY_SCORE_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    TRANSIENTS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    EXTRAS_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    error: str
    pipeline: str
    sky_level: float
    sky_noise: float
    n_sources: int
    fwhm_arcsec: float
    ellipticity: float
    zero_point: float
    anomaly_score: float
    verdict: str
    transients: _containers.RepeatedCompositeFieldContainer[TransientCandidate]
    latency_s: float
    extras: _struct_pb2.Struct
    def __init__(self, ok: _Optional[bool] = ..., error: _Optional[str] = ..., pipeline: _Optional[str] = ..., sky_level: _Optional[float] = ..., sky_noise: _Optional[float] = ..., n_sources: _Optional[int] = ..., fwhm_arcsec: _Optional[float] = ..., ellipticity: _Optional[float] = ..., zero_point: _Optional[float] = ..., anomaly_score: _Optional[float] = ..., verdict: _Optional[str] = ..., transients: _Optional[_Iterable[_Union[TransientCandidate, _Mapping]]] = ..., latency_s: _Optional[float] = ..., extras: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SimulatorTruth(_message.Message):
    __slots__ = ("snr", "seeing_arcsec", "airmass", "science_value", "quality", "sky_mag_arcsec2", "zero_point_mag", "transparency", "altitude_deg", "azimuth_deg", "exposure_start", "conditions", "extras")
    SNR_FIELD_NUMBER: _ClassVar[int]
    SEEING_ARCSEC_FIELD_NUMBER: _ClassVar[int]
    AIRMASS_FIELD_NUMBER: _ClassVar[int]
    SCIENCE_VALUE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    SKY_MAG_ARCSEC2_FIELD_NUMBER: _ClassVar[int]
    ZERO_POINT_MAG_FIELD_NUMBER: _ClassVar[int]
    TRANSPARENCY_FIELD_NUMBER: _ClassVar[int]
    ALTITUDE_DEG_FIELD_NUMBER: _ClassVar[int]
    AZIMUTH_DEG_FIELD_NUMBER: _ClassVar[int]
    EXPOSURE_START_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    EXTRAS_FIELD_NUMBER: _ClassVar[int]
    snr: float
    seeing_arcsec: float
    airmass: float
    science_value: float
    quality: float
    sky_mag_arcsec2: float
    zero_point_mag: float
    transparency: float
    altitude_deg: float
    azimuth_deg: float
    exposure_start: _timestamp_pb2.Timestamp
    conditions: Conditions
    extras: _struct_pb2.Struct
    def __init__(self, snr: _Optional[float] = ..., seeing_arcsec: _Optional[float] = ..., airmass: _Optional[float] = ..., science_value: _Optional[float] = ..., quality: _Optional[float] = ..., sky_mag_arcsec2: _Optional[float] = ..., zero_point_mag: _Optional[float] = ..., transparency: _Optional[float] = ..., altitude_deg: _Optional[float] = ..., azimuth_deg: _Optional[float] = ..., exposure_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., conditions: _Optional[_Union[Conditions, _Mapping]] = ..., extras: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ObservationOutcome(_message.Message):
    __slots__ = ("start", "end", "success", "reason", "truth")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TRUTH_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    success: bool
    reason: str
    truth: SimulatorTruth
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., success: _Optional[bool] = ..., reason: _Optional[str] = ..., truth: _Optional[_Union[SimulatorTruth, _Mapping]] = ...) -> None: ...

class ObservationResult(_message.Message):
    __slots__ = ("seq", "observation_id", "request_id", "site", "telescope", "outcome", "analysis", "has_frame", "fits", "recorded", "frame_sha256")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    TELESCOPE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    HAS_FRAME_FIELD_NUMBER: _ClassVar[int]
    FITS_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    FRAME_SHA256_FIELD_NUMBER: _ClassVar[int]
    seq: int
    observation_id: str
    request_id: str
    site: str
    telescope: str
    outcome: ObservationOutcome
    analysis: FrameAnalysis
    has_frame: bool
    fits: bytes
    recorded: _timestamp_pb2.Timestamp
    frame_sha256: str
    def __init__(self, seq: _Optional[int] = ..., observation_id: _Optional[str] = ..., request_id: _Optional[str] = ..., site: _Optional[str] = ..., telescope: _Optional[str] = ..., outcome: _Optional[_Union[ObservationOutcome, _Mapping]] = ..., analysis: _Optional[_Union[FrameAnalysis, _Mapping]] = ..., has_frame: _Optional[bool] = ..., fits: _Optional[bytes] = ..., recorded: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., frame_sha256: _Optional[str] = ...) -> None: ...

class AckResultsRequest(_message.Message):
    __slots__ = ("up_to_seq",)
    UP_TO_SEQ_FIELD_NUMBER: _ClassVar[int]
    up_to_seq: int
    def __init__(self, up_to_seq: _Optional[int] = ...) -> None: ...

class AckResultsResponse(_message.Message):
    __slots__ = ("acked_seq", "outbox_depth")
    ACKED_SEQ_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    acked_seq: int
    outbox_depth: int
    def __init__(self, acked_seq: _Optional[int] = ..., outbox_depth: _Optional[int] = ...) -> None: ...

class GetFrameRequest(_message.Message):
    __slots__ = ("observation_id",)
    OBSERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    observation_id: str
    def __init__(self, observation_id: _Optional[str] = ...) -> None: ...

class GetFrameResponse(_message.Message):
    __slots__ = ("observation_id", "fits", "sha256")
    OBSERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    FITS_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    observation_id: str
    fits: bytes
    sha256: str
    def __init__(self, observation_id: _Optional[str] = ..., fits: _Optional[bytes] = ..., sha256: _Optional[str] = ...) -> None: ...

class DeployModelRequest(_message.Message):
    __slots__ = ("name", "version", "sha256", "onnx")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    ONNX_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    sha256: str
    onnx: bytes
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., sha256: _Optional[str] = ..., onnx: _Optional[bytes] = ...) -> None: ...

class DeployModelResponse(_message.Message):
    __slots__ = ("deployed", "model", "message")
    DEPLOYED_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    deployed: bool
    model: ModelInfo
    message: str
    def __init__(self, deployed: _Optional[bool] = ..., model: _Optional[_Union[ModelInfo, _Mapping]] = ..., message: _Optional[str] = ...) -> None: ...
