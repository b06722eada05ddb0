# Debian's Dear ImGui (libimgui-dev 1.86) ships the core as a shared library and the
# platform/renderer backends as sources only. We compile the GLFW + OpenGL 3 backend
# sources from the package into a small static library. Nothing is vendored.
set(GENLENS_HAVE_IMGUI OFF)
set(GENLENS_HAVE_STUDIO OFF)

pkg_check_modules(IMGUI IMPORTED_TARGET imgui stb)
if(NOT IMGUI_FOUND)
  message(STATUS "genlens: Dear ImGui not found (libimgui-dev, libstb-dev): genlens-studio is skipped")
  return()
endif()
set(GENLENS_HAVE_IMGUI ON)

find_package(glfw3 3.3 QUIET)
find_package(OpenGL QUIET)
set(_backends /usr/share/doc/libimgui-dev/examples/backends)
find_path(IMGUI_BACKEND_SRC imgui_impl_glfw.cpp HINTS ${_backends} NO_DEFAULT_PATH)
if(NOT glfw3_FOUND OR NOT OpenGL_FOUND OR NOT IMGUI_BACKEND_SRC)
  message(STATUS "genlens: GLFW (libglfw3-dev), OpenGL (libgl-dev) or the ImGui backend sources "
                 "(${_backends}) not found: genlens-studio is skipped, views are still built and tested")
  return()
endif()

add_library(genlens_imgui_backends STATIC
  ${IMGUI_BACKEND_SRC}/imgui_impl_glfw.cpp
  ${IMGUI_BACKEND_SRC}/imgui_impl_opengl3.cpp)
target_include_directories(genlens_imgui_backends PUBLIC /usr/include/imgui/backends)
target_link_libraries(genlens_imgui_backends PUBLIC PkgConfig::IMGUI glfw OpenGL::GL ${CMAKE_DL_LIBS})
set(GENLENS_HAVE_STUDIO ON)
