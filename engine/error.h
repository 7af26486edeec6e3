// hl::Error and hl::FormatError live in the lowest layer so kernels can throw them too.
#pragma once
#include "kernels/common/error.h"
