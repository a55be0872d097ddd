# The artifact writer: plain C++20 over the runtime's format header, with no MLIR or LLVM.
# Defined here rather than in codegen/CMakeLists.txt so that it (and the runtime tests, which
# build artifacts with it) configure and build without the MLIR toolchain.
add_library(eave_artifact_writer STATIC ${PROJECT_SOURCE_DIR}/codegen/artifact_writer.cc
            ${PROJECT_SOURCE_DIR}/codegen/builtin_attrs.cc)
target_include_directories(eave_artifact_writer PUBLIC ${PROJECT_SOURCE_DIR}
                           ${PROJECT_SOURCE_DIR}/runtime/include)
target_link_libraries(eave_artifact_writer PUBLIC eave_format eave_ir eave_support)
