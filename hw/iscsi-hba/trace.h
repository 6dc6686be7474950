#include "trace/trace-hw_iscsi_hba.h"
