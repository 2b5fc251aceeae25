# Finds every third-party library as an imported target. Nothing is downloaded:
# all of it comes from Debian packages (see jobs/install_deps.sh).

find_package(MPI REQUIRED COMPONENTS C CXX)

set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR "specvae needs parallel HDF5 (Debian: libhdf5-openmpi-dev); found a serial HDF5 at ${HDF5_INCLUDE_DIRS}")
endif()
if(NOT TARGET HDF5::HDF5)
  add_library(HDF5::HDF5 INTERFACE IMPORTED)
  target_include_directories(HDF5::HDF5 INTERFACE ${HDF5_INCLUDE_DIRS})
  target_link_libraries(HDF5::HDF5 INTERFACE ${HDF5_LIBRARIES})
  target_compile_definitions(HDF5::HDF5 INTERFACE ${HDF5_DEFINITIONS})
endif()

find_package(PkgConfig REQUIRED)
pkg_check_modules(CFITSIO REQUIRED IMPORTED_TARGET cfitsio)
add_library(CFITSIO::cfitsio ALIAS PkgConfig::CFITSIO)

find_package(OpenMP REQUIRED COMPONENTS CXX)

# OpenBLAS by its own config; the cblas header lives in the pthread variant's folder on Debian.
find_package(OpenBLAS CONFIG QUIET)
find_library(SPECVAE_OPENBLAS_LIB NAMES openblas REQUIRED)
find_path(SPECVAE_CBLAS_INCLUDE cblas.h PATH_SUFFIXES openblas-pthread openblas REQUIRED)
add_library(specvae::openblas INTERFACE IMPORTED)
target_link_libraries(specvae::openblas INTERFACE ${SPECVAE_OPENBLAS_LIB})
target_include_directories(specvae::openblas INTERFACE ${SPECVAE_CBLAS_INCLUDE})

# oneDNN (Debian libdnnl-dev): the VAE's SGEMM when OpenBLAS falls back to a slow kernel on
# this CPU (oneDNN dispatches by ISA at run time and knows recent CPUs).
find_path(SPECVAE_DNNL_INCLUDE oneapi/dnnl/dnnl.h REQUIRED)
find_library(SPECVAE_DNNL_LIB NAMES dnnl REQUIRED)
add_library(specvae::dnnl INTERFACE IMPORTED)
target_link_libraries(specvae::dnnl INTERFACE ${SPECVAE_DNNL_LIB})
target_include_directories(specvae::dnnl INTERFACE ${SPECVAE_DNNL_INCLUDE})

find_package(faiss CONFIG REQUIRED)

# OpenCV's machine-learning module (Debian libopencv-ml-dev): the random forest of `learn`.
# Debian's split -dev packages ship no CMake or pkg-config file, so found by path.
find_path(SPECVAE_OPENCV_INCLUDE opencv2/ml.hpp PATH_SUFFIXES opencv4 REQUIRED)
find_library(SPECVAE_OPENCV_ML_LIB NAMES opencv_ml REQUIRED)
find_library(SPECVAE_OPENCV_CORE_LIB NAMES opencv_core REQUIRED)
add_library(specvae::opencv_ml INTERFACE IMPORTED)
target_link_libraries(specvae::opencv_ml INTERFACE ${SPECVAE_OPENCV_ML_LIB} ${SPECVAE_OPENCV_CORE_LIB})
target_include_directories(specvae::opencv_ml INTERFACE ${SPECVAE_OPENCV_INCLUDE})

find_package(CLI11 CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)

if(SPECVAE_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
  include(GoogleTest)
endif()
if(SPECVAE_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
