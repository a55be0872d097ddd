/* The symbols generated code may import: memcpy and friends, libm, and the half/bfloat16
 * conversion helpers LLVM calls when the CPU has no instruction for them. Anything else is a
 * load error that names the symbol. */
#ifndef EAVE_IMPORTS_H_
#define EAVE_IMPORTS_H_

/* The address of import `name`, or NULL if the runtime does not provide it. */
void* eave_import_find(const char* name);

#endif /* EAVE_IMPORTS_H_ */
