#!/usr/bin/env python3
"""Write fixtures/profiles/tsm-vfio-rfc.json: Xu Yilun's TDX Connect host RFC
(2025-05-29), VFIO TSM bind/unbind only. Facts restated from
tsm-uapi-history.md section 5 and seeds 000/001; no kernel text copied."""
import json, os

def u32_fields(names):
    return [{"name": n, "offset": 4 * i, "size": 4} for i, n in enumerate(names)]

def struct(name, names, extra):
    shape = {"align": 4, "fields": u32_fields(names), "size": 4 * len(names)}
    s = {"name": name, "lp64": shape, "ilp32": json.loads(json.dumps(shape)),
         "must_be_zero": [], "fd_fields": [], "pointer_fields": [], "flags": {"flags": 0}}
    s.update(extra)
    return s

profile = {
    "name": "tsm-vfio-rfc",
    "base": "linux-7.2",
    "released": False,
    "date": "2025-05-29",
    "title": "VFIO TSM bind/unbind RFC (Xu Yilun, TDX Connect host RFC, 2025-05-29): VFIO_DEVICE_TSM_BIND/UNBIND on the vfio cdev",
    "sources": [
        "tsm-uapi-history.md section 5 ([RFC PATCH 19/30] vfio/pci: TSM TDI bind/unbind IOCTLs; [RFC PATCH 21/30] guest request not modelled)",
        "seed 000_982f603e82059f06.txt (bind claims the PCI regions exclusively, then binds through iommufd)",
        "seed 001_a71caf59c915da4c.txt (unbind before the device is disabled or its BARs are zapped)",
    ],
    "behaviour": {
        "vfio_tsm_bind": "cdev fds only; before VFIO_DEVICE_BIND_IOMMUFD -> EINVAL (vfio rule); copy of minsz 12 faults -> EFAULT; "
                         "argsz < 12 or flags != 0 -> EINVAL; bytes past minsz (pad and any tail) are never read, so no E2BIG; "
                         "no iommufd device -> EINVAL; exclusive region claim error passed through; vdevice_id lookup in iommufd -> ENOENT "
                         "(section 5 iommufd lookup rule; inferred for bind); TDI -> CONFIG_LOCKED",
        "vfio_tsm_unbind": "argsz < 8 or flags != 0 -> EINVAL; unbind of an unbound device -> 0; TDI -> CONFIG_UNLOCKED, regions released",
        "guest_request_not_modelled": "The RFC's IOMMUFD_CMD_VDEVICE_TSM_GUEST_REQUEST (0x94, 48 B) is left out: 0x94 is IOMMU_HW_QUEUE_ALLOC "
                                      "in the linux-7.2 base (NR reuse, section 14)",
    },
    "enums": {},
    "ioctls": [
        {"family": "vfio", "name": "VFIO_DEVICE_TSM_BIND", "type": 59, "nr": 100 + 22,
         "struct": "vfio_pci_tsm_bind", "last": "vdevice_id", "min_size": 12},
        {"family": "vfio", "name": "VFIO_DEVICE_TSM_UNBIND", "type": 59, "nr": 100 + 23,
         "struct": "vfio_pci_tsm_unbind", "last": "flags", "min_size": 8},
    ],
    "structs": [
        # pad is listed so a layout reader sees bytes 12..15. It is not in must_be_zero:
        # the RFC never reads it (tsm-uapi-history section 14, "Unchecked pad").
        struct("vfio_pci_tsm_bind", ["argsz", "flags", "vdevice_id", "pad"],
               {"id_fields": {"vdevice_id": "vdevice"}}),
        struct("vfio_pci_tsm_unbind", ["argsz", "flags"], {}),
    ],
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "profiles", "tsm-vfio-rfc.json")
with open(out, "w") as f:
    json.dump(profile, f, indent=1, sort_keys=True, ensure_ascii=False)
    f.write("\n")
