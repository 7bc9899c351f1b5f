#include <stdio.h>
int main(void) { puts("g2c"); return 0; }
