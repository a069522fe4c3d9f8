/* temporary main so the build links; replaced by the command proper */
#include <stdio.h>
int main(void);
int
main(void)
{
    return (0);
}
