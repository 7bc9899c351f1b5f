/* Where a glomerulus crop comes from: the geometry rule, documented in
 * include/g2c/ingest.h and the README. */
#include "g2c/ingest.h"

void g2c_crop_square(double x, double y, double w, double h, double margin,
                     double *sx, double *sy, double *side)
{
    double longer = w > h ? w : h;
    double s = longer * (1.0 + 2.0 * margin);
    *sx = x + w / 2.0 - s / 2.0;
    *sy = y + h / 2.0 - s / 2.0;
    *side = s;
}
