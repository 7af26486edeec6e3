// Where a tensor's storage lives: host memory or one CUDA device.
#pragma once
#include <cstdint>
#include <string>

namespace hl {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device&) const = default;
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

// Parses "cpu", "cuda" or "cuda:N"; throws hl::Error otherwise.
Device parse_device(const std::string& text);

// True when this build has the CUDA backend and at least one device is visible.
bool cuda_available();
// Number of visible CUDA devices (0 in a build without CUDA).
int cuda_device_count();

}  // namespace hl
