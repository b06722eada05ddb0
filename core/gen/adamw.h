// The adapter trainer's optimizer and schedule are core/optim/adamw.h; these names keep
// code written against gen:: (tests/unit/test_adamw.cpp) compiling.
#pragma once
#include "core/optim/adamw.h"

namespace genlens::gen {

using optim::AdamW;
using optim::linear_schedule;

}  // namespace genlens::gen
