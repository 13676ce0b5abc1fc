// Usage: kvant_rt_tests [suite]   (runs every suite when none is given)
#include "check.hpp"

int main(int argc, char **argv) { return check::runAll(argc > 1 ? argv[1] : nullptr); }
