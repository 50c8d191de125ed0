import { fileURLToPath, URL } from "node:url";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vitest/config";

// Built into the Django app's static folder: served by WhiteNoise under /static/console/,
// hashed names (assets/[name]-[hash].js), cached for a year. index.html is served by
// scriptdeck.console.views for every console route, never cached.
export default defineConfig({
  base: "/static/console/",
  plugins: [vue()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  build: {
    outDir: "../src/scriptdeck/console/static/console",
    emptyOutDir: true,
    manifest: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        manualChunks: {
          echarts: ["echarts/core", "echarts/charts", "echarts/components", "echarts/renderers"],
          "element-plus": ["element-plus"],
        },
      },
    },
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000", "/admin": "http://127.0.0.1:8000" },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.spec.ts"],
    css: false,
    server: { deps: { inline: ["element-plus"] } },
  },
});
