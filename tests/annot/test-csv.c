#include "annot-test.h"
int main(void) { return g2c_test_finish("csv"); }
