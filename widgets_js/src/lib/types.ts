/** The anywidget types, re-exported so sources outside widgets_js/ can import them. */
export type { AnyModel, AnyWidget, Initialize, Render, RenderProps } from "@anywidget/types";
