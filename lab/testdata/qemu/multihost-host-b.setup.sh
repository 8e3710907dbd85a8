# famfs-lab guest setup for topology "multihost" host 2 of 2 (generated).
pmem_devdax_probed pmem0 0 device_dax
