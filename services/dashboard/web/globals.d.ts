// Chart.js is loaded as its UMD build (/vendor/chart.umd.min.js), which defines the global Chart.
import type { Chart as ChartClass } from 'chart.js';

declare global {
  const Chart: typeof ChartClass;
}
