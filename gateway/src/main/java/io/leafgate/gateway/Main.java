package io.leafgate.gateway; public final class Main { public static void main(String[] a) {} }
