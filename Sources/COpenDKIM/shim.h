#ifndef VIGIE_COPENDKIM_SHIM_H
#define VIGIE_COPENDKIM_SHIM_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <opendkim/dkim.h>
#endif
