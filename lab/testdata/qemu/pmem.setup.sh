# famfs-lab guest setup for topology "pmem" (generated).
pmem_devdax pmem0 0 device_dax
pmem_devdax pmem1 1 device_dax
