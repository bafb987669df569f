package io.leafgate.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Reads process figures from Linux's {@code /proc}. */
final class ProcInfo {
  private ProcInfo() {}

  /** The resident set size of a process in KiB ({@code VmRSS} in {@code /proc/PID/status}). */
  static long rssKiB(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.substring(6).replace("kB", "").trim());
      }
    }
    throw new IOException("no VmRSS line for pid " + pid + " (is it a zombie?)");
  }

  /**
   * The bytes a process has caused to be sent to the storage layer ({@code write_bytes} in
   * {@code /proc/PID/io}): counted when a page of the page cache is dirtied, so a page written
   * again before it reaches the disk counts once, and one made clean by an fsync counts again.
   */
  static long writeBytes(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "io"))) {
      if (line.startsWith("write_bytes:")) {
        return Long.parseLong(line.substring(12).trim());
      }
    }
    throw new IOException("no write_bytes line in /proc/" + pid + "/io");
  }

  /**
   * The soft limit on open files of a process ({@code Max open files} in {@code /proc/PID/limits});
   * {@code Long.MAX_VALUE} when unlimited.
   */
  static long openFilesLimit(String pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", pid, "limits"))) {
      if (line.startsWith("Max open files")) {
        String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
        return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
      }
    }
    throw new IOException("no 'Max open files' line in /proc/" + pid + "/limits");
  }

  /** The command line of a process, its arguments joined by spaces, if it is readable. */
  static Optional<String> commandLine(long pid) {
    try {
      byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
      String s = new String(raw, StandardCharsets.UTF_8).replace('\0', ' ').trim();
      return s.isEmpty() ? Optional.empty() : Optional.of(s);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /**
   * The file system that holds {@code path}, as "ext4 (/dev/vda on /)", from the longest mount
   * point of {@code /proc/mounts} above it; "unknown" when unreadable.
   */
  static String fileSystem(Path path) {
    try {
      String abs = path.toAbsolutePath().normalize().toString();
      String best = null;
      String bestMount = "";
      for (String line : Files.readAllLines(Path.of("/proc/mounts"))) {
        String[] f = line.split(" ");
        if (f.length < 3) {
          continue;
        }
        String mount = f[1];
        boolean above = abs.equals(mount) || abs.startsWith(mount.endsWith("/") ? mount : mount + "/");
        if (above && mount.length() >= bestMount.length()) {
          bestMount = mount;
          best = f[2] + " (" + f[0] + " on " + mount + ")";
        }
      }
      return best != null ? best : "unknown";
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  /** The 1, 5 and 15 minute load averages from {@code /proc/loadavg}, or "?" when unreadable. */
  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }
}
