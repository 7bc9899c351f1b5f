/* Small file-system helpers. */
#ifndef G2C_PATH_H
#define G2C_PATH_H

/* mkdir -p: create dir and its missing parents.  Errors name the folder. */
int g2c_make_dirs(const char *dir);

#endif
