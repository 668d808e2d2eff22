/* Uses the installed pqeval: prints its version and a metric name. */
#include <stdio.h>
#include <string.h>

#include <pqeval/dataset.h>
#include <pqeval/status.h>

int main(void)
{
    pqe_metric m;
    if (pqe_metric_parse("l2", &m) != PQE_OK || strcmp(pqe_metric_name(m), "euclidean") != 0)
        return 1;
    printf("pqeval %s\n", pqe_version());
    return 0;
}
