# famfs-lab guest setup for topology "pmem" (generated).
pmem_devdax pmem0 namespace0.0 device_dax
pmem_devdax pmem1 namespace1.0 device_dax
