/* Status codes shared by every part of the freev2g C core.
 *
 * Functions return >= 0 on success (often a length) and one of these negative codes on
 * failure. The Python facade maps each code to a specific exception class.
 */
#ifndef FV2G_STATUS_H
#define FV2G_STATUS_H

#define FV2G_OK 0
#define FV2G_ERR_INVALID_ARGUMENT (-1)
#define FV2G_ERR_BUFFER_TOO_SMALL (-2)
#define FV2G_ERR_TRUNCATED (-3)
#define FV2G_ERR_TRAILING_BYTES (-4)
/* HCI framing (whitebeet-hci.md section 2) */
#define FV2G_ERR_BAD_START_MARKER (-10)
#define FV2G_ERR_BAD_END_MARKER (-11)
#define FV2G_ERR_BAD_CHECKSUM (-12)
#define FV2G_ERR_FRAME_TOO_LONG (-13)
#define FV2G_ERR_UNCHECKED_REFUSED (-14)
/* Ethernet encapsulation (whitebeet-hci.md section 1.2) */
#define FV2G_ERR_ETHERTYPE (-20)
#define FV2G_ERR_ENCAP_VERSION (-21)
#define FV2G_ERR_ENCAP_TYPE (-22)
#define FV2G_ERR_ENCAP_SIZE (-23)
/* V2GTP (charging-domain.md section 2.5) */
#define FV2G_ERR_V2GTP_VERSION (-30)
#define FV2G_ERR_V2GTP_PAYLOAD_TYPE (-31)
#define FV2G_ERR_V2GTP_LENGTH (-32)

#endif
