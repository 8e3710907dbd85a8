# famfs-lab guest setup for topology "default" (generated).
pmem_devdax pmem0 0 device_dax
cxl_region region0 decoder0.0 256 536870912 device_dax 1
