#ifndef PULSE_CLIBPQ_SHIM_H
#define PULSE_CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>
#endif
