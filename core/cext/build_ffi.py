"""cffi out-of-line API-mode build of the freev2g C core (module ``freev2g._core``).

setup.py names ``core/cext/build_ffi.py:ffibuilder``. Paths are taken relative to this file,
then expressed relative to the working directory (setuptools runs from the project root, both
in the repository and in an unpacked sdist), because setuptools wants relative source paths.
``make_builder`` is also used by tests/sanitizer/run.sh for an ASan/UBSan build of the same
sources under another module name.
"""
from __future__ import annotations

import os
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
SOURCES = ("hci_frame.c", "encap.c", "deadline.c", "timerfd_glue.c")
HEADERS = ("fv2g_status.h", "hci_frame.h", "encap.h", "deadline.h")

# Only what the Python facades (core/framing.py, core/timing.py) use.
CDEF = """
#define FV2G_OK ...
#define FV2G_ERR_INVALID_ARGUMENT ...
#define FV2G_ERR_BUFFER_TOO_SMALL ...
#define FV2G_ERR_TRUNCATED ...
#define FV2G_ERR_TRAILING_BYTES ...
#define FV2G_ERR_BAD_START_MARKER ...
#define FV2G_ERR_BAD_END_MARKER ...
#define FV2G_ERR_BAD_CHECKSUM ...
#define FV2G_ERR_FRAME_TOO_LONG ...
#define FV2G_ERR_UNCHECKED_REFUSED ...
#define FV2G_ERR_ETHERTYPE ...
#define FV2G_ERR_ENCAP_VERSION ...
#define FV2G_ERR_ENCAP_TYPE ...
#define FV2G_ERR_ENCAP_SIZE ...
#define FV2G_ERR_V2GTP_VERSION ...
#define FV2G_ERR_V2GTP_PAYLOAD_TYPE ...
#define FV2G_ERR_V2GTP_LENGTH ...

#define FV2G_FRAME_START ...
#define FV2G_FRAME_END ...
#define FV2G_FRAME_HEADER_BYTES ...
#define FV2G_FRAME_OVERHEAD_BYTES ...
#define FV2G_FRAME_MAX_TOTAL_BYTES ...
#define FV2G_FRAME_DEFAULT_MAX_PAYLOAD ...
#define FV2G_FRAME_WIRE_MAX_PAYLOAD ...
#define FV2G_CHECKSUM_NONE ...

uint8_t fv2g_frame_checksum(const uint8_t *frame, size_t len);
int32_t fv2g_frame_encode(uint8_t module_id, uint8_t sub_id, uint8_t request_id,
                          const uint8_t *payload, size_t payload_len, int with_checksum,
                          uint32_t max_payload, uint8_t *out, size_t out_cap);
typedef struct {
    uint8_t module_id;
    uint8_t sub_id;
    uint8_t request_id;
    uint8_t checksum;
    uint32_t payload_offset;
    uint32_t payload_length;
} fv2g_frame_view;
int32_t fv2g_frame_parse(const uint8_t *data, size_t len, uint32_t max_payload,
                         int accept_zero_checksum, fv2g_frame_view *out);

typedef struct {
    uint64_t bytes_in;
    uint64_t frames;
    uint64_t frame_bytes;
    uint64_t garbage_bytes;
    uint64_t bad_checksum;
    uint64_t too_long;
    uint64_t bad_end_marker;
    uint64_t unchecked;
} fv2g_decoder_stats;
typedef struct {
    uint32_t capacity;
    uint32_t count;
    uint32_t full;
    uint32_t payload_capacity;
    uint32_t payload_used;
    uint8_t *module_id;
    uint8_t *sub_id;
    uint8_t *request_id;
    uint8_t *checksum;
    uint32_t *payload_offset;
    uint32_t *payload_length;
    uint8_t *payload;
} fv2g_frame_batch;
typedef struct fv2g_decoder fv2g_decoder;
fv2g_decoder *fv2g_decoder_new(uint32_t max_payload, int accept_zero_checksum);
void fv2g_decoder_free(fv2g_decoder *dec);
void fv2g_decoder_reset(fv2g_decoder *dec);
uint32_t fv2g_decoder_pending(const fv2g_decoder *dec);
void fv2g_decoder_get_stats(const fv2g_decoder *dec, fv2g_decoder_stats *out);
size_t fv2g_decoder_feed(fv2g_decoder *dec, const uint8_t *data, size_t len,
                         fv2g_frame_batch *out);

#define FV2G_ETH_MAC_BYTES ...
#define FV2G_ETHERTYPE_HCI ...
#define FV2G_ETH_HCI_HEADER_BYTES ...
#define FV2G_ETH_MIN_FRAME_BYTES ...
#define FV2G_ETH_CONTROL_VERSION ...
#define FV2G_ETH_CONTROL_TYPE_FRAMING ...
typedef struct {
    uint16_t ethertype;
    uint8_t version;
    uint8_t message_type;
    uint32_t frame_offset;
    uint32_t frame_length;
} fv2g_eth_view;
int32_t fv2g_eth_build(const uint8_t *dst_mac, const uint8_t *src_mac, const uint8_t *frame,
                       size_t frame_len, uint8_t *out, size_t out_cap);
int32_t fv2g_eth_parse(const uint8_t *data, size_t len, fv2g_eth_view *out);

#define FV2G_V2GTP_HEADER_BYTES ...
#define FV2G_V2GTP_VERSION ...
#define FV2G_V2GTP_INVERSE_VERSION ...
#define FV2G_V2GTP_EXI ...
#define FV2G_V2GTP_MAINSTREAM ...
#define FV2G_V2GTP_AC ...
#define FV2G_V2GTP_DC ...
#define FV2G_V2GTP_ACDP ...
#define FV2G_V2GTP_WPT ...
#define FV2G_V2GTP_SCHEDULE_RENEGOTIATION ...
#define FV2G_V2GTP_METERING_CONFIRMATION ...
#define FV2G_V2GTP_ACDP_SYSTEM_STATUS ...
#define FV2G_V2GTP_PARKING_STATUS ...
#define FV2G_V2GTP_SDP_REQUEST ...
#define FV2G_V2GTP_SDP_RESPONSE ...
#define FV2G_V2GTP_MANUFACTURER_FIRST ...
typedef struct {
    uint8_t version;
    uint8_t inverse_version;
    uint16_t payload_type;
    uint32_t payload_length;
} fv2g_v2gtp_header;
int fv2g_v2gtp_payload_type_known(uint16_t payload_type);
int32_t fv2g_v2gtp_build_header(uint16_t payload_type, uint32_t payload_length, uint8_t *out,
                                size_t out_cap);
int32_t fv2g_v2gtp_parse_header(const uint8_t *data, size_t len, uint32_t max_length,
                                fv2g_v2gtp_header *out);

typedef struct {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t max_ns;
    ...;
} fv2g_hist;
void fv2g_hist_reset(fv2g_hist *h);
void fv2g_hist_record(fv2g_hist *h, int64_t value_ns);
uint64_t fv2g_hist_percentile(const fv2g_hist *h, uint32_t ppm);
typedef struct {
    int64_t deadline_ns;
    int64_t lateness_ns;
    uint64_t missed;
    int64_t next_deadline_ns;
} fv2g_wake;
typedef struct {
    uint64_t wakes;
    uint64_t overruns;
    uint64_t early_wakes;
    uint64_t p50_ns;
    uint64_t p99_ns;
    uint64_t max_ns;
    uint64_t mean_ns;
} fv2g_deadline_stats;
typedef struct fv2g_deadline fv2g_deadline;
fv2g_deadline *fv2g_deadline_new(int64_t period_ns, int64_t first_deadline_ns);
void fv2g_deadline_free(fv2g_deadline *d);
void fv2g_deadline_restart(fv2g_deadline *d, int64_t first_deadline_ns);
int64_t fv2g_deadline_next(const fv2g_deadline *d);
int64_t fv2g_deadline_period(const fv2g_deadline *d);
int fv2g_deadline_wake(fv2g_deadline *d, int64_t now_ns, fv2g_wake *out);
void fv2g_deadline_get_stats(const fv2g_deadline *d, fv2g_deadline_stats *out);
int fv2g_timerfd_create(void);
int fv2g_timerfd_arm(int fd, int64_t first_deadline_ns, int64_t period_ns);
int fv2g_timerfd_disarm(int fd);
int64_t fv2g_monotonic_ns(void);
int fv2g_thread_set_timer_slack(uint64_t slack_ns);
int64_t fv2g_thread_get_timer_slack(void);
int fv2g_timerfd_wake_probe(int64_t period_ns, uint32_t n, fv2g_hist *out);
"""

PRELUDE = """
#include "hci_frame.h"
#include "encap.h"
#include "deadline.h"
"""


def _relative(path: Path) -> str:
    """Relative to the working directory when below it (setuptools rejects absolute paths)."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive; only on Windows
        return str(path)


def make_builder(
    module_name: str = "freev2g._core",
    *,
    extra_compile_args: list[str] | None = None,
    extra_link_args: list[str] | None = None,
    absolute_paths: bool = False,
) -> FFI:
    """An FFI builder for the C core under `module_name` (other names: sanitizer builds)."""
    builder = FFI()
    builder.cdef(CDEF)
    place = (lambda p: str(p)) if absolute_paths else _relative
    builder.set_source(
        module_name,
        PRELUDE,
        sources=[place(HERE / name) for name in SOURCES],
        include_dirs=[place(HERE)],
        depends=[place(HERE / name) for name in HEADERS],
        extra_compile_args=["-std=c11", "-O2", "-D_GNU_SOURCE", *(extra_compile_args or [])],
        extra_link_args=list(extra_link_args or []),
        py_limited_api=True,
    )
    return builder


ffibuilder = make_builder()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
