# famfs-lab guest setup for topology "cxl-interleave" (generated).
cxl_region region0 decoder0.2 4096 1073741824 device_dax 1 2
