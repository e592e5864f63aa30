#include <criterion/criterion.h>
Test(acl_cluster, placeholder) { cr_assert(1); }
